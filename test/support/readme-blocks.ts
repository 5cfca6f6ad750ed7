/**
 * The shell blocks of a Markdown document, as a reader would copy them:
 * every ```bash fence, with the line it starts on and the directive of the
 * HTML comment just above it, if any.
 *
 * Directives (invisible on the rendered page):
 * - `<!-- not run: reason -->`: the block cannot run on the machines that run
 *   the tests (Docker, an EventStoreDB server); the reason is printed.
 * - `<!-- run with the service stopped -->`: the block needs the data folder
 *   to itself (the read-model rebuild refuses to run beside the service).
 */
export interface ShellBlock {
  /** 1-based line of the opening fence. */
  line: number;
  code: string;
  directive: { kind: 'not-run'; reason: string } | { kind: 'service-stopped' } | { kind: 'run' };
}

const NOT_RUN = /^<!--\s*not run:\s*(.+?)\s*-->$/;
const SERVICE_STOPPED = /^<!--\s*run with the service stopped\s*-->$/;

export function shellBlocks(markdown: string): ShellBlock[] {
  const lines = markdown.split('\n');
  const blocks: ShellBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]!.trim() !== '```bash') continue;
    const end = lines.findIndex((text, j) => j > i && text.trim() === '```');
    if (end === -1) throw new Error(`README.md:${i + 1}: a bash block is never closed`);
    blocks.push({ line: i + 1, code: lines.slice(i + 1, end).join('\n'), directive: directiveAbove(lines, i) });
    i = end;
  }
  return blocks;
}

function directiveAbove(lines: readonly string[], fence: number): ShellBlock['directive'] {
  let above = fence - 1;
  while (above >= 0 && lines[above]!.trim() === '') above--;
  const comment = above >= 0 ? lines[above]!.trim() : '';
  const notRun = NOT_RUN.exec(comment);
  if (notRun) return { kind: 'not-run', reason: notRun[1]! };
  if (SERVICE_STOPPED.test(comment)) return { kind: 'service-stopped' };
  if (comment.startsWith('<!--')) throw new Error(`README.md:${above + 1}: unknown directive ${comment}`);
  return { kind: 'run' };
}
