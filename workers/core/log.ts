/** Structured logs: one JSON object a line, never free-form strings. */
export type LogFields = { event: string } & Record<string, string | number | boolean | null | undefined>;

export function log(fields: LogFields): void {
  console.log(JSON.stringify({ t: Date.now(), ...fields }));
}
