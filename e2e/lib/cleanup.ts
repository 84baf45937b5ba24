// A cleanup stack: steps run last-added first, each one even when an earlier one failed.
export class Cleanup {
  readonly #steps: Array<{ what: string; fn: () => unknown }> = [];

  add(what: string, fn: () => unknown): void {
    this.#steps.push({ what, fn });
  }

  async run(): Promise<void> {
    while (this.#steps.length > 0) {
      const step = this.#steps.pop()!;
      try {
        await step.fn();
      } catch (err) {
        console.error(`e2e cleanup: ${step.what}: ${(err as Error).message}`);
      }
    }
  }
}
