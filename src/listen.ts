/**
 * Binding a listener (the API's, the metrics exporter's) and saying where it is. A port that
 * cannot be had is one line naming the setting to change, not a stack trace; a listener bound
 * to every interface (`0.0.0.0`, `::`) is reachable at one URL per address of this machine,
 * and names them all, loopback first.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { ConfigError } from './config';
import { ProcessError } from './process-errors';

/** Another process listens on the port: the same start works once it stops, so not bad configuration. */
export class PortInUseError extends ProcessError {
  readonly code = 'port_in_use';
}

export interface Where {
  readonly port: number;
  readonly host: string;
  /** The variables that set them, for the message when they cannot be had. */
  readonly portVariable: string;
  readonly hostVariable: string;
  /** Appended to the advice when the port is in use. */
  readonly hint?: string;
  /**
   * Errors of the bound listener, such as an accept failing when the process is out of file
   * descriptors: reported, never the uncaught exception an unheard `error` event would be.
   */
  readonly onError: (err: Error) => void;
}

/** Binds `server` where told; resolves with the address actually bound. */
export async function listen(server: Server, where: Where): Promise<AddressInfo> {
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject).listen(where.port, where.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    throw explain(err, where);
  }
  server.on('error', where.onError);
  return server.address() as AddressInfo;
}

function explain(err: unknown, where: Where): Error {
  switch ((err as NodeJS.ErrnoException).code) {
    case 'EADDRINUSE':
      return new PortInUseError(
        `port ${where.port} is in use: stop the other process or set ${where.portVariable}${where.hint ?? ''}`,
        { cause: err },
      );
    case 'EACCES':
      return new ConfigError(
        where.portVariable,
        `port ${where.port} needs privileges this process does not have: use 1024 or above`,
      );
    case 'EADDRNOTAVAIL':
      return new ConfigError(where.hostVariable, `${where.host} is not an address of this machine`);
    default:
      return err as Error;
  }
}

const WILDCARDS = new Set(['0.0.0.0', '::']);

/** `address` as the host of a URL: IPv6 in brackets. */
export const hostInUrl = (address: string): string => (address.includes(':') ? `[${address}]` : address);

/** Where `bound` is, as `host:port` (`0.0.0.0:8080`, `[::]:8080`, `127.0.0.1:41234`). */
export const addressOf = (bound: AddressInfo): string => `${hostInUrl(bound.address)}:${bound.port}`;

/**
 * The URLs at which a listener bound to `bound` is reachable, the loopback ones first (the
 * first is the one to use from this machine). For a wildcard address, one per address of this
 * machine's interfaces: IPv4 for `0.0.0.0`, IPv4 and IPv6 for `::` (link-local IPv6 left out:
 * it needs a zone, which no browser takes).
 */
export function reachableUrls(bound: AddressInfo): string[] {
  const url = (address: string) => `http://${hostInUrl(address)}:${bound.port}`;
  if (!WILDCARDS.has(bound.address)) return [url(bound.address)];
  const loopback = bound.address === '::' ? ['127.0.0.1', '::1'] : ['127.0.0.1'];
  let interfaces: os.NetworkInterfaceInfo[] = [];
  try {
    interfaces = Object.values(os.networkInterfaces()).flatMap((list) => list ?? []);
  } catch {
    // Some sandboxes refuse to list interfaces; loopback is still there.
  }
  const addresses = interfaces
    .filter((i) => i.family === 'IPv4' || (bound.address === '::' && !i.address.toLowerCase().startsWith('fe80:')))
    .sort(
      (a, b) => Number(b.internal) - Number(a.internal) || Number(a.family === 'IPv6') - Number(b.family === 'IPv6'),
    )
    .map((i) => i.address);
  return [...new Set([...loopback, ...addresses])].map(url);
}
