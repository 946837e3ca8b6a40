import { describe, it } from 'vitest';
import { run } from '../helpers/runner.js';

describe('runner smoke', () => {
  it('adds', () => {
    run('add eax, ebx').regs({ eax: 1, ebx: 2 }).step().expectRegs({ eax: 3 }).expectFlags({ CF: 0, ZF: 0 }).expectCycles(1);
  });
});
