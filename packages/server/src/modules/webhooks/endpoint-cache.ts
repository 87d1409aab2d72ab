/** An enabled endpoint as the outbox needs it: who it is and the event types it asked for. */
export interface EndpointFilter {
  id: string;
  eventTypes: readonly string[];
}

/** Projects whose endpoints are kept; past it the least recently read goes. */
const MAX_PROJECTS = 4_096;

/**
 * The enabled endpoints of each project, for the outbox: every event of every module reads them, and they
 * rarely change. Used only where this process alone writes the database (the embedded SQLite), so every
 * change of an endpoint goes through the webhook repository, which holds the cache from before it writes
 * until the write is committed or rolled back: meanwhile nothing is answered from here or kept (a read
 * in between may see a change that is not committed yet). A read that overlapped a change is not kept
 * either: each read notes the generation it began in.
 */
export class EndpointCache {
  private readonly byProject = new Map<string, readonly EndpointFilter[]>();
  private generation = 0;
  /** Changes of endpoints under way. */
  private holds = 0;

  get(projectId: string): readonly EndpointFilter[] | undefined {
    if (this.holds > 0) return undefined;
    const endpoints = this.byProject.get(projectId);
    if (endpoints) {
      // Map order is insertion order: re-inserting marks it the most recently read.
      this.byProject.delete(projectId);
      this.byProject.set(projectId, endpoints);
    }
    return endpoints;
  }

  /** The generation a read begins in; pass it to `set` with what the read found. */
  begin(): number {
    return this.generation;
  }

  set(projectId: string, generation: number, endpoints: readonly EndpointFilter[]): void {
    if (generation !== this.generation || this.holds > 0) return;
    if (this.byProject.size >= MAX_PROJECTS) {
      this.byProject.delete(this.byProject.keys().next().value as string);
    }
    this.byProject.set(projectId, endpoints);
  }

  /** A change of endpoints begins: until `release`, nothing is answered from here or kept. */
  hold(): void {
    this.holds++;
    this.invalidate();
  }

  /** The change has been committed or rolled back. */
  release(): void {
    this.holds--;
    this.invalidate();
  }

  private invalidate(): void {
    this.generation++;
    this.byProject.clear();
  }
}
