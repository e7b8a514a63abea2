/**
 * What every core operation needs: store paths, the image store, registry configuration and,
 * only when something must happen inside the user namespace, the namespace itself. Each part is
 * opened on first use: exec, ps or stop never touch the image store or the registries, and
 * opening them (directories made, files read) would be most of what such a command costs.
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
  let store: ImageStore | undefined;
  let containers: ContainerStore | undefined;
  let registries: RegistriesConfig | undefined;
  return {
    paths,
    get store() {
      return (store ??= ImageStore.open(paths));
    },
    get containers() {
      return (containers ??= ContainerStore.open(paths));
    },
    get registries() {
      return (registries ??= loadRegistriesConfig([paths.systemConfigDir, paths.configDir]));
    },
    namespace: () => (ns ??= joinUserNamespace({ runroot: paths.runroot })),
  };
}
