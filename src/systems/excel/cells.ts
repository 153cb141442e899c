// One function from every cell shape exceljs yields to a plain value.
import { CellError, columnLetters } from '../../collectors/file.js';

export { CellError } from '../../collectors/file.js';

/**
 * string, number, boolean → as they are (text keeps its leading zeros); Date → the Date
 * (exceljs reads Excel dates as UTC); rich text → its text; formula or shared formula →
 * its cached result; hyperlink → its text; empty → null. An error cell (#N/A, #REF!…) or an
 * unknown shape throws CellError naming the cell, so the row is reported, never read as
 * "[object Object]".
 */
export function cellValue(value: unknown, rowNumber: number, column: number): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  if (value instanceof Date) return value;
  const where = `cell ${columnLetters(column)}${rowNumber}`;
  if (typeof value === 'object') {
    const v = value as Record<string, unknown>;
    if (Array.isArray(v.richText)) return (v.richText as { text?: unknown }[]).map((r) => String(r.text ?? '')).join('');
    if ('error' in v) throw new CellError(`${where} holds the error ${String(v.error)}`);
    if ('formula' in v || 'sharedFormula' in v) {
      if (!('result' in v) || v.result === undefined) throw new CellError(`${where} has a formula without a saved result (open and save the file in Excel)`);
      // exceljs' streaming reader reads an error result (#DIV/0!) as a number that is NaN,
      // and a TRUE/FALSE result as 1/0 (the `bool` transform reads those).
      if (typeof v.result === 'number' && Number.isNaN(v.result)) throw new CellError(`${where} holds a formula whose saved result is an error`);
      return cellValue(v.result, rowNumber, column);
    }
    if ('hyperlink' in v || 'text' in v) return cellValue(v.text, rowNumber, column);
  }
  let shape: string;
  try {
    shape = JSON.stringify(value).slice(0, 80);
  } catch {
    shape = typeof value;
  }
  throw new CellError(`${where} has content parity cannot read: ${shape}`);
}
