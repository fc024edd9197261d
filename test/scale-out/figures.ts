/** The figures the proof measured, printed as one table at the end (and kept for the closing note). */
export interface Figure {
  scenario: string;
  figure: string;
  value: string;
  /** The contract's bound, e.g. `≤ 1000 ms`, or '' for a figure without one. */
  bound: string;
}

export function createFigures() {
  const rows: Figure[] = [];
  return {
    rows,
    add(scenario: string, figure: string, value: string | number, bound = ''): void {
      rows.push({
        scenario,
        figure,
        value: typeof value === 'number' ? String(Math.round(value)) : value,
        bound,
      });
    },
    table(): string {
      const header: Figure = { scenario: 'scenario', figure: 'figure', value: 'measured', bound: 'bound' };
      const all = [header, ...rows];
      const width = (key: keyof Figure) => Math.max(...all.map((row) => row[key].length));
      const keys = ['scenario', 'figure', 'value', 'bound'] as const;
      const line = (row: Figure) => `| ${keys.map((key) => row[key].padEnd(width(key))).join(' | ')} |`;
      const rule = `|${keys.map((key) => '-'.repeat(width(key) + 2)).join('|')}|`;
      return [line(header), rule, ...rows.map(line)].join('\n');
    },
  };
}

export type Figures = ReturnType<typeof createFigures>;
