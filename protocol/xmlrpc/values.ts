// XML-RPC values as typed data, and the two messages (methodCall, methodResponse).

/** A double that must be sent as <double> even when it is a whole number. */
export class XmlRpcDouble {
  constructor(readonly value: number) {}
}

/** Explicit <i4>/<int>; a plain JS integer is also sent as <int>. */
export type XmlRpcValue =
  | string
  | number
  | boolean
  | null
  | Date
  | Buffer
  | XmlRpcDouble
  | XmlRpcValue[]
  | { [member: string]: XmlRpcValue };

export interface MethodCall {
  methodName: string;
  params: XmlRpcValue[];
}

export type MethodResponse =
  | { kind: "result"; value: XmlRpcValue }
  | { kind: "fault"; faultCode: number; faultString: string };

export function isStruct(v: XmlRpcValue): v is { [member: string]: XmlRpcValue } {
  return (
    typeof v === "object" &&
    v !== null &&
    !Array.isArray(v) &&
    !(v instanceof Date) &&
    !Buffer.isBuffer(v) &&
    !(v instanceof XmlRpcDouble)
  );
}
