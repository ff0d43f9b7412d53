/**
 * A data table: column headers (`scope="col"`), each row named by its first cell
 * (`scope="row"`), and a row saying so when there is nothing to show, so the headers stay.
 */
import type { ReactNode } from 'react';

export interface Column<T> {
  readonly header: string;
  readonly cell: (row: T) => ReactNode;
  /** A header read by screen readers only (an actions column). */
  readonly hiddenHeader?: boolean;
  /** Long values (ids, details) that may break anywhere rather than widen the table. */
  readonly wrap?: boolean;
}

interface TableProps<T> {
  /** What the table lists, for screen readers (visible headings name it for everyone else). */
  readonly caption: string;
  readonly columns: readonly Column<T>[];
  readonly rows: readonly T[];
  readonly rowKey: (row: T) => string | number;
  readonly empty: string;
}

export function Table<T>({ caption, columns, rows, rowKey, empty }: TableProps<T>) {
  return (
    // A region that takes focus, so a table wider than the screen scrolls with the keyboard too.
    <div className="table-wrap" role="region" aria-label={caption} tabIndex={0}>
      <table>
        <caption className="visually-hidden">{caption}</caption>
        <thead>
          <tr>
            {columns.map((column) => (
              <th key={column.header} scope="col">
                {column.hiddenHeader ? <span className="visually-hidden">{column.header}</span> : column.header}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.length === 0 ? (
            <tr>
              <td colSpan={columns.length} className="empty">
                {empty}
              </td>
            </tr>
          ) : (
            rows.map((row) => (
              <tr key={rowKey(row)}>
                {columns.map((column, index) =>
                  index === 0 ? (
                    <th key={column.header} scope="row">
                      {column.cell(row)}
                    </th>
                  ) : (
                    <td key={column.header} className={column.wrap ? 'wrap' : undefined}>
                      {column.cell(row)}
                    </td>
                  ),
                )}
              </tr>
            ))
          )}
        </tbody>
      </table>
    </div>
  );
}

interface PagerProps {
  readonly page: number;
  readonly count: number;
  readonly pageSize: number;
  readonly onPage: (page: number) => void;
}

/** Previous / next through a paged list ("Page 2 of 5"). */
export function Pager({ page, count, pageSize, onPage }: PagerProps) {
  const pages = Math.max(1, Math.ceil(count / pageSize));
  if (pages === 1) return null;
  return (
    <nav aria-label="Pages" className="pager">
      <button type="button" disabled={page <= 1} onClick={() => onPage(page - 1)}>
        Previous page
      </button>
      <span>
        Page {page} of {pages}
      </span>
      <button type="button" disabled={page >= pages} onClick={() => onPage(page + 1)}>
        Next page
      </button>
    </nav>
  );
}
