import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Makes sure the generated CIFAR fixture exists (idempotent and quick when it does). */
export default function setup(): void {
  const script = fileURLToPath(new URL('../scripts/make-cifar-fixture.ts', import.meta.url));
  execFileSync(process.execPath, ['--import', 'tsx', script], { stdio: 'inherit' });
}
