// What both ends share: XML, XML-RPC, the entry model and the Bcfg2 documents.
export * from "./errors.js";
export * from "./xml.js";
export * from "./xmlrpc/index.js";
export * from "./entries.js";
export * from "./documents/probes.js";
export * from "./documents/configuration.js";
export * from "./documents/statistics.js";
