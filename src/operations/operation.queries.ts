import { Query, QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { OperationsProjection } from './operations.projection.js';
import { OperationStreams } from './operation-streams.js';
import { loadedView, type OperationView } from './operation.view.js';

export class GetOperationQuery extends Query<OperationView> {
  constructor(readonly operationId: string) {
    super();
  }
}

@QueryHandler(GetOperationQuery)
export class GetOperationHandler implements IQueryHandler<GetOperationQuery> {
  constructor(private readonly operations: OperationStreams) {}

  async execute({ operationId }: GetOperationQuery): Promise<OperationView> {
    return loadedView(operationId, await this.operations.load(operationId));
  }
}

export interface OperationPage {
  operations: OperationView[];
  nextCursor?: string;
}

/** Operations oldest first; the cursor is opaque (the index sequence of the last one). */
export class ListOperationsQuery extends Query<OperationPage> {
  constructor(readonly options: { status?: string; after: number; limit: number }) {
    super();
  }
}

@QueryHandler(ListOperationsQuery)
export class ListOperationsHandler implements IQueryHandler<ListOperationsQuery> {
  constructor(
    private readonly index: OperationsProjection,
    private readonly operations: OperationStreams,
  ) {}

  async execute({ options }: ListOperationsQuery): Promise<OperationPage> {
    const rows = this.index.list({ ...options, limit: options.limit + 1 });
    const page = rows.slice(0, options.limit);
    const operations: OperationView[] = [];
    for (const row of page) {
      // The index says which; the stream says what (always current).
      const loaded = await this.operations.load(row.operationId);
      if (loaded.state.status !== 'none') operations.push(loadedView(row.operationId, loaded));
    }
    const last = page.at(-1);
    return rows.length > options.limit && last ? { operations, nextCursor: String(last.seq) } : { operations };
  }
}
