/**
 * A TCP connection from the Workers runtime (`connect()` from `cloudflare:sockets`), as the
 * byte pipe the outside-master link needs. Kept apart so only the node imports the runtime
 * module; tests of the link use a fake.
 */
import { connect } from "cloudflare:sockets";

export interface TcpLink {
  /** Resolves once the connection is established (rejects when it cannot be). */
  opened: Promise<unknown>;
  readable: ReadableStream<Uint8Array>;
  write(bytes: Uint8Array): void;
  close(): void;
}

export function openTcp(hostname: string, port: number): TcpLink {
  const socket = connect({ hostname, port });
  const writer = socket.writable.getWriter();
  return {
    opened: socket.opened,
    readable: socket.readable as ReadableStream<Uint8Array>,
    write(bytes) {
      // Writes queue in order; a failed one shows as the read side ending, handled there.
      writer.write(bytes).catch(() => {});
    },
    close() {
      socket.close().catch(() => {});
    },
  };
}
