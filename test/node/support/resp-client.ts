/** The RESP client the tests share with the tools (tools/resp-client.ts). */
export * from "../../../tools/resp-client.ts";
