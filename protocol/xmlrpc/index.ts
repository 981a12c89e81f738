// The XML-RPC codec: values, parser and serializer, free of any transport.
export * from "./values.js";
export * from "./parser.js";
export * from "./serializer.js";
