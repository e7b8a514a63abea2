/** `inspect`: containers and images by name or ID, with Docker's lookup order (containers first). */
import type { Engine } from './engine.js';
import { TspodError, forEachInput } from './errors.js';
import { inspectImage } from './image-view.js';
import { findImage, noSuchImage } from './images.js';
import { syncContainers } from './containers/exit.js';
import { findContainer, noSuchContainer } from './containers/lookup.js';
import { inspectContainer } from './containers/view.js';

export type InspectType = 'container' | 'image' | undefined;

export async function inspectObjects(engine: Engine, inputs: string[], type: InspectType): Promise<{ found: unknown[]; error?: TspodError }> {
  const found: unknown[] = [];
  const containers = type === 'image' ? [] : await syncContainers(engine);
  const images = engine.store.read();
  let error: TspodError | undefined;
  try {
    await forEachInput(inputs, async (input) => {
      const container = type === 'image' ? undefined : findContainer({ version: 1, containers }, input);
      if (container) {
        const image = images.images.find((i) => i.id === container.imageId);
        found.push(
          inspectContainer(container, engine.containers.containerPaths(container.id), {
            imageNames: image?.names ?? [],
            rootfsLowers: [...(image?.layers ?? [])].reverse().map((d) => engine.store.layerDir(d)),
          }),
        );
        return;
      }
      const image = type === 'container' ? undefined : findImage(engine, images, input)?.image;
      if (image) {
        found.push(inspectImage(engine, image));
        return;
      }
      if (type === 'container') throw noSuchContainer(input);
      if (type === 'image') throw noSuchImage(input);
      throw new TspodError(`no such object: ${input}`);
    });
  } catch (e) {
    if (!(e instanceof TspodError)) throw e;
    error = e;
  }
  return { found, error };
}
