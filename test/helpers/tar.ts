import tar from 'tar-stream';

/** A tar archive written by tar-stream: each entry a 512-byte header and its data padded to 512, then the end marker. */
export async function tarOf(entries: [string, Uint8Array | string][]): Promise<Uint8Array> {
  const pack = tar.pack();
  for (const [name, body] of entries) pack.entry({ name }, Buffer.from(body));
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return new Uint8Array(Buffer.concat(chunks));
}
