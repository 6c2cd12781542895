import { readFile } from 'node:fs/promises';

import { z } from 'zod';

import { BadFileError } from '../errors.js';

/**
 * A user label rule, matched against the path relative to the walk root. Named groups become
 * labels; `label` sets one label to `value` (with $1 / $<name> filled in) or, without
 * `value`, to the first capture group (else the whole match).
 */
export interface LabelRule {
  regex: RegExp;
  label?: string;
  value?: string;
}

const ruleSchema = z
  .object({
    regex: z.string().min(1),
    flags: z.string().regex(/^[imsu]*$/, 'flags may only use i, m, s, u').optional(),
    label: z.string().min(1).optional(),
    value: z.string().optional(),
  })
  .strict()
  .refine((r) => r.value === undefined || r.label !== undefined, { message: '"value" needs a "label"' });

/** `{ "rules": [...] }`; a bare array of rules is accepted as the same. */
const fileSchema = z.object({ rules: z.array(ruleSchema) }).strict();

/** Reads and validates a JSON label-rules file; a bad file is a BadFileError naming it. */
export async function loadLabelRules(file: string): Promise<LabelRule[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new BadFileError(file, `cannot read label rules (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new BadFileError(file, `label rules are not valid JSON (${(err as Error).message})`);
  }
  const parsed = fileSchema.safeParse(Array.isArray(json) ? { rules: json } : json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue.path.length ? issue.path.join('.') : 'top level';
    throw new BadFileError(file, `label rules invalid at ${where}: ${issue.message}`);
  }
  return parsed.data.rules.map((r, i) => {
    let regex: RegExp;
    try {
      regex = new RegExp(r.regex, r.flags);
    } catch (err) {
      throw new BadFileError(file, `rule ${i}: bad regex (${(err as Error).message})`);
    }
    if (r.label === undefined && !/\(\?<\w+>/.test(r.regex)) {
      throw new BadFileError(file, `rule ${i}: needs a "label" or named groups`);
    }
    return { regex, ...(r.label !== undefined ? { label: r.label } : {}), ...(r.value !== undefined ? { value: r.value } : {}) };
  });
}
