// Projects have an id and a number, and Cloud KMS accepts either in a
// resource name (AIP-2510): `projects/my-project/...` and
// `projects/123456789012/...` are the same project. Here the number of an id
// is derived from it (services/ekm-client/identity.ts, projectNumber), so it
// is stable across restarts and installations and names the project's EKM
// identity; a number leads back to its id through the ids this KMS has seen,
// recorded in the store. Resources are kept under the id form.
import { projectNumber } from './ekm-client/identity';
import { PROJECT } from './names';
import type { Store } from '../store/store';

/** A project id written as a number alone is read as a project number. */
export const isProjectNumber = (project: string): boolean => /^[0-9]+$/.test(project);

/** A project id as resource names take it (services/names.ts), not a number. */
export const isProjectId = (project: string): boolean => PROJECT.test(project) && !isProjectNumber(project);

export class Projects {
  readonly #registered = new Set<string>();
  readonly #ids = new Map<string, string>();

  constructor(private readonly store: Store) {}

  /** Records the ids the stored resources use (a store made before numbers were recorded). */
  async registerInUse(): Promise<void> {
    for (const id of await this.store.projectIdsInUse()) await this.register(id);
  }

  /** Whether `id` is already recorded (no store call needed). */
  known(id: string): boolean {
    return this.#registered.has(id);
  }

  /** Records id with its number, once per process. */
  async register(id: string): Promise<void> {
    if (this.#registered.has(id) || !isProjectId(id)) return;
    const number = projectNumber(id);
    await this.store.registerProject(id, number);
    this.#registered.add(id);
    if (!this.#ids.has(number)) this.#ids.set(number, id);
  }

  /** The id of the project with this number, when this KMS has seen that project by its id. */
  async idOf(number: string): Promise<string | undefined> {
    const cached = this.#ids.get(number);
    if (cached) return cached;
    const id = await this.store.projectIdOf(number);
    if (id) this.#ids.set(number, id);
    return id;
  }
}
