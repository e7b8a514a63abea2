/**
 * `stats`: Docker's live resource table. CPU % is the CPU time the container used between two
 * samples over the wall time between them (100% = one CPU busy), as Docker computes it.
 */
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Engine } from '../engine.js';
import { binarySize, humanSize } from '../humanize.js';
import { forEachInput } from '../errors.js';
import type { ContainerRecord } from '../../store/container-store.js';
import { containerPids } from '../../namespaces/processes.js';
import { cgroupUsage, procUsage, type Usage } from '../../namespaces/usage.js';
import { syncContainers } from './exit.js';
import { isActive, requireContainer } from './lookup.js';

export interface StatsRow {
  /** what the user named it by (the short ID when listing) */
  Container: string;
  ID: string;
  Name: string;
  CPUPerc: string;
  MemUsage: string;
  MemPerc: string;
  NetIO: string;
  BlockIO: string;
  PIDs: string;
}

export const STATS_TABLE = 'table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}';

export const STATS_HEADERS = {
  Container: 'CONTAINER',
  ID: 'CONTAINER ID',
  Name: 'NAME',
  CPUPerc: 'CPU %',
  MemUsage: 'MEM USAGE / LIMIT',
  MemPerc: 'MEM %',
  NetIO: 'NET I/O',
  BlockIO: 'BLOCK I/O',
  PIDs: 'PIDS',
};

/** Shown (on stderr) when the figures come from /proc. */
export const ROOTLESS_NOTE =
  'Note: rootless on cgroup v1 there is no container cgroup to read: CPU, memory (the sum of the processes\' resident memory) and pids come from /proc; the memory limit, MEM % and block I/O cannot be measured and show as --';

/** Docker's refresh period. */
export const STATS_INTERVAL_MS = 1000;

export interface StatsOptions {
  all: boolean;
  noTrunc: boolean;
}

interface Target {
  label: string;
  record: ContainerRecord;
}

interface Sample {
  at: number;
  usage?: Usage;
}

/** Whether stats reads /proc rather than cgroups (rootless: cgroup v1 delegates nothing). */
export function measuresFromProc(engine: Engine): boolean {
  return engine.paths.rootless;
}

function measure(engine: Engine, c: ContainerRecord): Sample {
  const at = performance.now();
  if (!isActive(c)) return { at };
  const pids = containerPids(c.state.pid);
  if (pids.length === 0) return { at };
  return { at, usage: measuresFromProc(engine) ? procUsage(pids) : cgroupUsage(c.state.pid, os.totalmem()) };
}

function row(target: Target, noTrunc: boolean, before: Sample, after: Sample): StatsRow {
  const { record } = target;
  const u = after.usage;
  const cpu = u && before.usage && after.at > before.at ? ((u.cpuNs - before.usage.cpuNs) / 1e6 / (after.at - before.at)) * 100 : 0;
  const limit = u ? u.memLimit : 0;
  return {
    Container: target.label,
    ID: noTrunc ? record.id : record.id.slice(0, 12),
    Name: record.name,
    CPUPerc: `${Math.max(cpu, 0).toFixed(2)}%`,
    MemUsage: `${binarySize(u?.memUsage ?? 0)} / ${limit === undefined ? '--' : binarySize(limit)}`,
    MemPerc: limit === undefined ? '--' : `${(limit > 0 ? ((u?.memUsage ?? 0) / limit) * 100 : 0).toFixed(2)}%`,
    NetIO: `${humanSize(u?.netRx ?? 0)} / ${humanSize(u?.netTx ?? 0)}`,
    BlockIO: u && u.blockRead === undefined ? '-- / --' : `${humanSize(u?.blockRead ?? 0)} / ${humanSize(u?.blockWrite ?? 0)}`,
    PIDs: String(u?.pids ?? 0),
  };
}

/** The containers named (an unknown one is an error), or every running one (-a: every one). */
async function targets(engine: Engine, inputs: string[], all: boolean): Promise<Target[]> {
  const containers = await syncContainers(engine);
  if (inputs.length === 0) {
    return containers
      .filter((c) => all || isActive(c))
      .sort((a, b) => Date.parse(b.created) - Date.parse(a.created))
      .map((record) => ({ label: record.id.slice(0, 12), record }));
  }
  const state = engine.containers.read();
  const found: Target[] = [];
  await forEachInput(inputs, async (input) => {
    found.push({ label: input, record: requireContainer(state, input) });
  });
  return found;
}

/**
 * Rows from two samples STATS_INTERVAL_MS apart, then (with `follow`) a fresh table every
 * interval until `signal` aborts. Containers listed without names are looked up again each time.
 */
export async function* containerStats(engine: Engine, inputs: string[], opts: StatsOptions & { follow: boolean; signal?: AbortSignal }): AsyncGenerator<StatsRow[]> {
  const sampleAll = (targets: Target[]) => new Map(targets.map((t) => [t.record.id, measure(engine, t.record)]));
  const pause = () => sleep(STATS_INTERVAL_MS, undefined, { signal: opts.signal }).catch(() => undefined);
  let previous = sampleAll(await targets(engine, inputs, opts.all));
  await pause();
  while (!opts.signal?.aborted) {
    const current = await targets(engine, inputs, opts.all);
    const samples = sampleAll(current);
    yield current.map((t) => row(t, opts.noTrunc, previous.get(t.record.id) ?? { at: 0 }, samples.get(t.record.id)!));
    if (!opts.follow) return;
    previous = samples;
    await pause();
  }
}
