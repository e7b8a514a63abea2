/**
 * The /etc/hosts, /etc/resolv.conf and /etc/hostname a container gets, as Docker writes them.
 * Written before the container starts, so the private network's addresses are fixed ones
 * (PRIVATE_NETWORK: the same whichever helper runs).
 */
import net from 'node:net';
import { PRIVATE_NETWORK, type NetworkMode } from '../namespaces/network.js';
import { TspodError } from './errors.js';

/** Docker's /etc/hosts before any container-specific line. */
const LOCALHOST_LINES = [
  '127.0.0.1\tlocalhost',
  '::1\tlocalhost ip6-localhost ip6-loopback',
  'fe00::0\tip6-localnet',
  'ff00::0\tip6-mcastprefix',
  'ff02::1\tip6-allnodes',
  'ff02::2\tip6-allrouters',
];

/** Names that lead to the host, as Podman and Docker Desktop spell them. */
const HOST_NAMES = ['host.containers.internal', 'host.docker.internal'];

/** glibc reads at most this many nameserver lines (MAXNS). */
const MAX_NAMESERVERS = 3;

/** The address at which a container in `mode` reaches the host; none has no way to it. */
function hostAddress(mode: NetworkMode): string | undefined {
  if (mode === 'private') return PRIVATE_NETWORK.gateway;
  return mode === 'host' ? '127.0.0.1' : undefined;
}

/** `--add-host NAME:IP` (or NAME=IP, IPv6 optionally in brackets; IP "host-gateway": the host). */
function parseExtraHost(entry: string, mode: NetworkMode): { name: string; ip: string } {
  const sep = /[:=]/.exec(entry);
  const name = sep ? entry.slice(0, sep.index) : '';
  let ip = sep ? entry.slice(sep.index + 1).replace(/^\[(.*)\]$/, '$1') : '';
  if (ip === 'host-gateway') {
    const host = hostAddress(mode);
    if (!host) throw new TspodError(`--add-host ${entry}: a container with --network none has no way to the host`);
    ip = host;
  }
  if (!/^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$/.test(name) || net.isIP(ip) === 0) {
    throw new TspodError(`invalid --add-host "${entry}"`, 'use NAME:IP, e.g. myhost:192.0.2.10 or myhost:host-gateway');
  }
  return { name, ip };
}

/** Host names listed in an /etc/hosts text. */
function namesIn(hosts: string): Set<string> {
  const names = new Set<string>();
  for (const line of hosts.split('\n')) {
    const fields = line.replace(/#.*/, '').trim().split(/\s+/);
    for (const name of fields.slice(1)) names.add(name);
  }
  return names;
}

/**
 * /etc/hosts. `mode` defaults to private when `ip` (the container's address) is given, else
 * none. In host mode the host's own file (`hostHosts`) is the base, as Docker does; elsewhere
 * Docker's localhost lines are. Then the --add-host entries (first, so they win over ours), the
 * names of the host, and the container's hostname (on 127.0.0.1 without an address of its own).
 */
export function hostsFile(opts: {
  hostname: string;
  ip?: string;
  extraHosts?: string[];
  mode?: NetworkMode;
  /** host mode: the text of the host's /etc/hosts */
  hostHosts?: string;
}): string {
  const mode = opts.mode ?? (opts.ip ? 'private' : 'none');
  const base = mode === 'host' && opts.hostHosts !== undefined ? opts.hostHosts.trimEnd().split('\n') : LOCALHOST_LINES;
  const lines = [...base];
  for (const entry of opts.extraHosts ?? []) {
    const { name, ip } = parseExtraHost(entry, mode);
    lines.push(`${ip}\t${name}`);
  }
  const known = namesIn(lines.join('\n'));
  const host = hostAddress(mode);
  const hostNames = HOST_NAMES.filter((n) => !known.has(n));
  if (host && hostNames.length) lines.push(`${host}\t${hostNames.join(' ')}`);
  if (!known.has(opts.hostname)) lines.push(`${opts.ip || '127.0.0.1'}\t${opts.hostname}`);
  return `${lines.join('\n')}\n`;
}

/**
 * Whether a nameserver of the host works from a container's own network namespace: the host's
 * loopback and link-local addresses are not the container's, and the private network has no IPv6.
 */
function reachableFromContainer(address: string, mode: 'private' | 'none'): boolean {
  const family = net.isIP(address);
  if (family === 4) return !address.startsWith('127.');
  return family === 6 && mode === 'none' && address !== '::1' && !/^fe80:|%/i.test(address);
}

/**
 * /etc/resolv.conf. host: the host's file as it is. private: the helper's DNS forwarder first
 * (it reaches whatever the host uses, loopback resolvers included), then the host's nameservers
 * that the container can reach; none: those only (like Docker). `dns` (--dns) replaces the
 * nameservers in every mode; the host's search, domain and options lines are kept.
 */
export function resolvConf(opts: { mode: NetworkMode; hostResolvConf: string; dns?: string[] }): string {
  const dns = opts.dns ?? [];
  for (const address of dns) {
    if (net.isIP(address) === 0) throw new TspodError(`invalid --dns "${address}"`, 'give an IPv4 or IPv6 address');
  }
  if (opts.mode === 'host' && dns.length === 0) {
    return opts.hostResolvConf === '' || opts.hostResolvConf.endsWith('\n') ? opts.hostResolvConf : `${opts.hostResolvConf}\n`;
  }
  const hostServers: string[] = [];
  const names: string[] = [];
  const options: string[] = [];
  for (const line of opts.hostResolvConf.split('\n').map((l) => l.trim())) {
    const [keyword, value] = line.split(/\s+/);
    if (keyword === 'nameserver' && value) hostServers.push(value);
    else if (keyword === 'search' || keyword === 'domain') names.push(line);
    else if (keyword === 'options') options.push(line);
  }
  let servers = dns;
  if (servers.length === 0 && opts.mode !== 'host') {
    const mode = opts.mode;
    const own = mode === 'private' ? [PRIVATE_NETWORK.dns] : [];
    servers = [...new Set([...own, ...hostServers.filter((s) => reachableFromContainer(s, mode))])].slice(0, MAX_NAMESERVERS);
  }
  const lines = [...names, ...servers.map((s) => `nameserver ${s}`), ...options];
  return lines.length ? `${lines.join('\n')}\n` : '';
}

export function hostnameFile(hostname: string): string {
  return `${hostname}\n`;
}
