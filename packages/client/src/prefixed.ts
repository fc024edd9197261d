/** The operations of one API (`paths` relative to its root) under its path prefix, e.g. `/accounts`. */
export type Prefixed<Prefix extends string, Paths> = {
  [Path in keyof Paths & string as `${Prefix}${Path}`]: Paths[Path];
};
