/**
 * Registry configuration (registries.json), like Podman's registries.conf: mirrors, insecure
 * registries, short-name search order and aliases. The system file (/etc/tspod/registries.json)
 * is read first; the user's file adds to it and wins on conflicts.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { TspodError } from './errors.js';
import { type ImageReference, DEFAULT_REGISTRY, parseReference } from './reference.js';

const RegistryEntry = z
  .object({
    /** host[:port] of mirrors tried in order before the registry itself */
    mirrors: z.array(z.string()).default([]),
    /** plain HTTP allowed and TLS certificates not verified */
    insecure: z.boolean().default(false),
    blocked: z.boolean().default(false),
  })
  .strict();

const RegistriesFile = z
  .object({
    registries: z.record(z.string(), RegistryEntry).default({}),
    unqualifiedSearchRegistries: z.array(z.string()).optional(),
    /** short name -> fully qualified repository, e.g. "busybox": "docker.io/library/busybox" */
    aliases: z.record(z.string(), z.string()).default({}),
  })
  .strict();

export type RegistryEntry = z.infer<typeof RegistryEntry>;

export interface RegistriesConfig {
  registries: Record<string, RegistryEntry>;
  unqualifiedSearchRegistries: string[];
  aliases: Record<string, string>;
  /** files that were read, for `tspod info` */
  files: string[];
}

export const REGISTRIES_FILE = 'registries.json';

function readConfigFile(file: string): z.infer<typeof RegistriesFile> | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new TspodError(`cannot read ${file}: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new TspodError(`${file} is not valid JSON: ${(e as Error).message}`, 'fix or remove the file');
  }
  const parsed = RegistriesFile.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new TspodError(`${file}: ${issue.path.join('.') || '(top level)'}: ${issue.message}`, 'fix or remove the file');
  }
  return parsed.data;
}

/** Like Podman's CONTAINERS_REGISTRIES_CONF: one file that replaces the system and user ones. */
export const REGISTRIES_ENV = 'TSPOD_REGISTRIES_CONF';

export function loadRegistriesConfig(dirs: string[]): RegistriesConfig {
  const config: RegistriesConfig = { registries: {}, unqualifiedSearchRegistries: [DEFAULT_REGISTRY], aliases: {}, files: [] };
  const override = process.env[REGISTRIES_ENV];
  const files = override ? [override] : [...new Set(dirs)].map((dir) => path.join(dir, REGISTRIES_FILE));
  for (const file of files) {
    const data = readConfigFile(file);
    if (!data) continue;
    config.files.push(file);
    Object.assign(config.registries, data.registries);
    Object.assign(config.aliases, data.aliases);
    if (data.unqualifiedSearchRegistries) config.unqualifiedSearchRegistries = data.unqualifiedSearchRegistries;
  }
  return config;
}

export function registryEntry(config: RegistriesConfig, registry: string): RegistryEntry {
  return config.registries[registry] ?? { mirrors: [], insecure: false, blocked: false };
}

/**
 * The fully qualified references a user's name may mean, in the order to try: an alias, the
 * name as given if qualified, else each unqualified-search registry.
 */
export function candidateReferences(config: RegistriesConfig, input: string, ref: ImageReference): ImageReference[] {
  if (ref.qualified) return [ref];
  const shortName = input.replace(/[:@].*$/, '');
  const alias = config.aliases[shortName];
  if (alias) {
    const target = parseReference(alias);
    return [{ ...target, tag: ref.tag, digest: ref.digest, qualified: true }];
  }
  const repository = ref.repository.startsWith('library/') && !input.startsWith('library/') ? ref.repository.slice('library/'.length) : ref.repository;
  return config.unqualifiedSearchRegistries.map((registry) => ({
    ...ref,
    registry,
    repository: registry === DEFAULT_REGISTRY && !repository.includes('/') ? `library/${repository}` : repository,
    qualified: true,
  }));
}

/** Where to fetch a registry's content from: its mirrors first, then itself. */
export function endpointsFor(config: RegistriesConfig, registry: string): { host: string; insecure: boolean }[] {
  const entry = registryEntry(config, registry);
  if (entry.blocked) throw new TspodError(`registry ${registry} is blocked in registries.json`, 'remove "blocked" for it to pull from it');
  const endpoints = entry.mirrors.map((host) => ({ host, insecure: entry.insecure || registryEntry(config, host).insecure }));
  endpoints.push({ host: registry, insecure: entry.insecure });
  return endpoints;
}
