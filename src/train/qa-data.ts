/**
 * The paper's appendix tasks in their public formats. WebQuestions (Berant et al. 2013, the
 * `web_questions` release): one record per question, `{"url", "question", "answers": [...]}`; the
 * model is trained on the first answer and scored against all. PIQA (Bisk et al. 2020):
 * `{"goal", "sol1", "sol2"}` with the right solution's index either in the record (`label`, as the
 * Hugging Face export has it) or, as the original release ships them, one per line in a sibling
 * `<split>-labels.lst` file; the model is trained on the right solution and scored by which of the
 * two it finds more likely.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { DatasetError, type DatasetFormat, type Example, readExamples } from './data.js';

/** A non-empty string field, or an error naming it. */
function field(r: Record<string, unknown>, name: string, where: string): string {
  const v = r[name];
  if (typeof v !== 'string' || v.trim() === '')
    throw new DatasetError(`${where}: field '${name}' must be a non-empty string`);
  return v;
}

export function readWebQuestions(file: string, format: DatasetFormat): Example[] {
  return readExamples(
    file,
    (r, where) => {
      const question = field(r, 'question', where);
      const answers = r.answers;
      if (
        !Array.isArray(answers) ||
        answers.length === 0 ||
        !answers.every((a) => typeof a === 'string' && a.trim() !== '')
      )
        throw new DatasetError(`${where}: field 'answers' must be a non-empty list of non-empty strings`);
      return { source: question, target: answers[0] as string, answers: answers as string[] };
    },
    format,
  );
}

export function readPiqa(file: string, format: DatasetFormat): Example[] {
  const labelsFile = join(dirname(file), `${basename(file, extname(file))}-labels.lst`);
  const lines = existsSync(labelsFile) ? labelLines(labelsFile) : undefined;
  const examples = readExamples(
    file,
    (r, where, index) => {
      const choices = [field(r, 'sol1', where), field(r, 'sol2', where)];
      if (r.label === undefined && lines && index >= lines.length)
        throw new DatasetError(`${labelsFile}: ${lines.length} labels, none for ${where}`);
      const label = r.label ?? lines?.[index];
      if (label === undefined)
        throw new DatasetError(`${where}: no field 'label', and no ${labelsFile} beside the file`);
      if (label !== 0 && label !== 1)
        throw new DatasetError(
          `${where}: 'label' must be 0 (sol1) or 1 (sol2), got ${JSON.stringify(label)}`,
        );
      return { source: field(r, 'goal', where), target: choices[label]!, choices, label };
    },
    format,
  );
  if (lines && lines.length !== examples.length)
    throw new DatasetError(`${labelsFile}: ${lines.length} labels for ${examples.length} records in ${file}`);
  return examples;
}

/** The labels of `<split>-labels.lst`: one 0 or 1 per line. */
function labelLines(file: string): number[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  if (lines.at(-1)?.trim() === '') lines.pop();
  return lines.map((line, i) => {
    const t = line.trim();
    if (t !== '0' && t !== '1') throw new DatasetError(`${file}:${i + 1}: expected 0 or 1, got '${t}'`);
    return Number(t);
  });
}
