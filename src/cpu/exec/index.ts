/** All instruction handlers, keyed by handlerKey (mnemonic.form) of the opcode table. */
import type { Handler } from '../dispatch.js';
import { ALU_HANDLERS } from './alu.js';
import { CONTROL_HANDLERS } from './control.js';
import { DATA_HANDLERS } from './data.js';
import { MODEL_HANDLERS } from './model.js';
import { SYSTEM_HANDLERS } from './system.js';
import { VMX_HANDLERS } from './vmx.js';

export const HANDLERS: Record<string, Handler> = {
  ...ALU_HANDLERS,
  ...DATA_HANDLERS,
  ...CONTROL_HANDLERS,
  ...SYSTEM_HANDLERS,
  ...MODEL_HANDLERS,
  ...VMX_HANDLERS,
};
