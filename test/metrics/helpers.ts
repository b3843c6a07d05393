// Reading scrapes in the metrics tests: the text is parsed by parse-prometheus-text-format (an independent
// parser from npm), never by our own code.
import parsePrometheusTextFormat, { type ParsedFamily, type ParsedSample } from 'parse-prometheus-text-format';

export type Scrape = ParsedFamily[];

export function parseScrape(text: string): Scrape {
  return parsePrometheusTextFormat(text);
}

export function family(scrape: Scrape, name: string): ParsedFamily | undefined {
  return scrape.find((f) => f.name === name);
}

/** The samples of `name` whose labels include `labels`. */
export function samples(scrape: Scrape, name: string, labels: Readonly<Record<string, string>> = {}): ParsedSample[] {
  return (family(scrape, name)?.metrics ?? []).filter((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
}

/** The value of the one sample of `name` with exactly these labels; undefined when there is none. */
export function value(scrape: Scrape, name: string, labels: Readonly<Record<string, string>> = {}): number | undefined {
  const wanted = Object.keys(labels).length;
  const found = samples(scrape, name, labels).filter((m) => Object.keys(m.labels ?? {}).length === wanted);
  if (found.length > 1) throw new Error(`${name} ${JSON.stringify(labels)}: ${found.length} samples`);
  return found[0]?.value === undefined ? undefined : Number(found[0].value);
}

/** Label value -> sample value for a metric with one label. */
export function byLabel(scrape: Scrape, name: string, label: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of family(scrape, name)?.metrics ?? []) if (m.labels?.[label] !== undefined) out.set(m.labels[label]!, Number(m.value));
  return out;
}

export async function httpGet(url: string, accept?: string): Promise<{ status: number; contentType: string; body: string }> {
  const response = await fetch(url, { headers: accept ? { accept } : {} });
  return { status: response.status, contentType: response.headers.get('content-type') ?? '', body: await response.text() };
}

export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
