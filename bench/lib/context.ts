// What every bench part gets, and what it gives back for BENCHMARKS.md.
export interface BenchContext {
  quick: boolean;
  /** Measured runs per figure (≥ 5); one warm-up run comes on top. */
  runs: number;
  log: (msg: string) => void;
}

export interface PartReport {
  title: string;
  /** Markdown: method notes and tables. */
  body: string;
  /** One line per goal: "met"/"MISSED" with the measured figure. */
  goals: string[];
}

export interface Part {
  id: string;
  title: string;
  run(ctx: BenchContext): Promise<PartReport>;
}

export function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

export function goal(met: boolean, text: string): string {
  return `${met ? 'met' : '**MISSED**'}: ${text}`;
}
