/**
 * What every core operation needs: store paths, the image store, registry configuration and,
 * only when something must happen inside the user namespace, the namespace itself.
 */
import { joinUserNamespace, type NamespaceContext } from '../namespaces/userns.js';
import { ContainerStore } from '../store/container-store.js';
import { ImageStore } from '../store/image-store.js';
import type { StorePaths } from '../store/paths.js';
import { loadRegistriesConfig, type RegistriesConfig } from './registries.js';

export interface Output {
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

export interface Engine {
  paths: StorePaths;
  store: ImageStore;
  containers: ContainerStore;
  registries: RegistriesConfig;
  /** Joins (or creates) the rootless user namespace on first use. */
  namespace(): Promise<NamespaceContext>;
}

export function openEngine(paths: StorePaths): Engine {
  let ns: Promise<NamespaceContext> | undefined;
  return {
    paths,
    store: ImageStore.open(paths),
    containers: ContainerStore.open(paths),
    registries: loadRegistriesConfig([paths.systemConfigDir, paths.configDir]),
    namespace: () => (ns ??= joinUserNamespace({ runroot: paths.runroot })),
  };
}
