/**
 * Test helper: a sample instruction for every entry of OPCODES, generated
 * from its form's operand kinds, with the fields the encoding must decode to.
 * New table entries are covered automatically.
 */
import { FIXED_KINDS, packMem, type OperandKind } from '../../src/isa/forms.js';
import { OPCODES, type OpcodeEntry } from '../../src/isa/opcodes.js';
import { REG16_NAMES, REG32_NAMES, REG8_NAMES } from '../../src/isa/registers.js';
import { TRACEPOINT_ID } from '../../src/isa/tracepoints.js';

export interface Sample {
  readonly entry: OpcodeEntry;
  /** assembler text (jump targets refer to the label `target`) */
  readonly text: string;
  /** expected decoded fields; rel32 targets are given by `targetField` */
  readonly fields: (number | 'target')[];
}

/** Vary registers by position and entry so that fields are distinguishable. */
export function sampleFor(e: OpcodeEntry, variant = 0): Sample {
  const texts: string[] = [];
  const fields: (number | 'target')[] = [];
  e.form.operands.forEach((k: OperandKind, i) => {
    if (FIXED_KINDS.has(k)) {
      texts.push(k);
      return;
    }
    const r = (i * 3 + variant + 1) % 8;
    switch (k) {
      case 'r32': texts.push(REG32_NAMES[r]); fields.push(r); break;
      case 'r16': texts.push(REG16_NAMES[r]); fields.push(r); break;
      case 'r8': texts.push(REG8_NAMES[r]); fields.push(r); break;
      case 'cr': texts.push('cr4'); fields.push(4); break;
      case 'imm8': texts.push('0x7f'); fields.push(0x7f); break;
      case 'imm16': texts.push('0x1234'); fields.push(0x1234); break;
      case 'imm32': texts.push('0x12345678'); fields.push(0x12345678); break;
      case 'rel32': texts.push('target'); fields.push('target'); break;
      case 'tp': texts.push('kvm_pio'); fields.push(TRACEPOINT_ID.get('kvm_pio')!); break;
      case 'm': case 'm32': case 'm16': case 'm8': {
        const size = k === 'm8' ? 'byte ' : k === 'm16' ? 'word ' : '';
        const base = (variant + 3) % 8;
        const index = (variant + 6) % 8;
        texts.push(`${size}[${REG32_NAMES[base]} + ${REG32_NAMES[index]}*4 + 0x100 + ${variant}]`);
        fields.push(packMem(base, index, 2), 0x100 + variant);
        break;
      }
      default:
        throw new Error(`sample: unhandled operand kind ${k}`);
    }
  });
  return { entry: e, text: texts.length ? `${e.mnemonic} ${texts.join(', ')}` : e.mnemonic, fields };
}

/** A program using every entry of OPCODES (twice, with different registers), plus data. */
export function everyOpcodeProgram(): string {
  const lines = ['.global _start', '_start:'];
  OPCODES.forEach((e, i) => lines.push(`  ${sampleFor(e, i).text}`));
  lines.push('target:');
  OPCODES.forEach((e, i) => lines.push(`  ${sampleFor(e, i + 3).text}`));
  lines.push('  jmp _start', '.loop:', '  jmp .loop', '  call counter_fn', 'counter_fn: ret');
  lines.push('.rodata', 'msg: .asciz "every opcode\\n"', '.align 4', 'table: .long _start, target, msg');
  lines.push('.data', 'counter: .long 0', 'bytes: .byte 1, 2, 3, 0xff', '.align 64', 'aligned: .quad 0x123456789');
  lines.push('.bss', 'stack: .space 256', 'stack_top:');
  return lines.join('\n') + '\n';
}
