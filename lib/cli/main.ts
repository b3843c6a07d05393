/** Entry point of the bsv-wire command. Returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [command] = argv;
  process.stderr.write(`bsv-wire: unknown command ${JSON.stringify(command ?? '')}\n`);
  return 2;
}
