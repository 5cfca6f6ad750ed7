import { Controller, Get, Header, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Roles } from '../auth/roles.decorator.js';
import { DomainError } from '../common/domain-error.js';
import { ApiProblems } from '../http/api-problems.js';
import {
  CheckpointKeyResponse,
  ConsistencyProofQuery,
  ConsistencyProofResponse,
  InclusionProofQuery,
  InclusionProofResponse,
} from './transparency-log.dto.js';
import {
  type CheckpointKeyView,
  type ConsistencyProofView,
  type InclusionProofView,
  TransparencyLog,
} from './transparency-log.js';

const BAD_INPUT = 'Bad input: a query parameter, or a malformed Ledger-Min-Position header';
const BEHIND = '`read-model.behind`: this instance has not reached Ledger-Min-Position within 2 s';

const EXAMPLE_CHECKPOINT =
  'tenant-ledger\n6\nB3bwH7yMQK3MHbb3c3PF7Zqmbq3Jfn6MYyM1J0H8AOk=\n\n— tenant-ledger GwJtK0R5fY0n6yZ3jzVXlS9B8Yq4m+U5Zr2m7bVFrjL0Mbe8TWIkW0b5nE8cX3Qp4cPxg1c8Wm3oX2k4t2F4hC+2dQ0=\n';

@ApiTags('ledger')
@ApiBearerAuth()
@ApiProblems(401, 403)
@Controller('ledger')
export class TransparencyLogController {
  constructor(private readonly log: TransparencyLog) {}

  @Get('checkpoint')
  @Roles('viewer')
  @Header('Content-Type', 'text/plain; charset=utf-8')
  @ApiOperation({
    summary: 'The latest checkpoint: the signed tree head of the Merkle tree over the global order',
    description:
      'A C2SP signed note (c2sp.org/tlog-checkpoint): origin (LEDGER_ORIGIN), tree size, base64 RFC 9162 root, ' +
      'a blank line and an Ed25519 signature line by the key of GET /v1/ledger/checkpoint-key. Leaf i is the ' +
      'event of global ordinal i + 1 as stored. Keep it: GET /v1/ledger/verify?checkpoint= later proves the log ' +
      'still extends it.',
  })
  @ApiResponse({
    status: 200,
    description: 'The signed note',
    content: { 'text/plain': { schema: { type: 'string', example: EXAMPLE_CHECKPOINT } } },
  })
  @ApiProblems([400, BAD_INPUT])
  @ApiProblems([503, BEHIND])
  checkpoint(): string {
    return this.log.checkpoint();
  }

  @Get('checkpoint-key')
  @Roles('viewer')
  @ApiOperation({
    summary: 'The public key that signs checkpoints',
    description: 'Also printed when the service starts. Get it once, over a channel you trust, and keep it.',
  })
  @ApiOkResponse({ type: CheckpointKeyResponse })
  @ApiProblems([400, BAD_INPUT])
  @ApiProblems([503, BEHIND])
  key(): CheckpointKeyView {
    return this.log.key();
  }

  @Get('proofs/inclusion')
  @Roles('viewer')
  @ApiOperation({
    summary: 'An inclusion proof: this event is leaf `index` of the tree of `size` leaves',
    description:
      'Give the leaf by `index` or by `eventId`, and the size of the checkpoint you verify against; check it ' +
      "with RFC 9162 §2.1.3.2 against that checkpoint's root. 404 `proof.beyond-tree` when the size is larger " +
      "than this instance's tree (another instance may be ahead: retry with Ledger-Min-Position), " +
      '404 `proof.unknown-event` for an event id not in the tree, 400 `proof.not-in-tree` for a leaf the tree of `size` does not hold yet.',
  })
  @ApiOkResponse({ type: InclusionProofResponse })
  @ApiProblems([400, BAD_INPUT])
  @ApiProblems([404, '`proof.beyond-tree` or `proof.unknown-event`'])
  @ApiProblems([503, BEHIND])
  inclusion(@Query() query: InclusionProofQuery): InclusionProofView {
    const { index, eventId, size } = query;
    if ((index === undefined) === (eventId === undefined)) {
      throw new DomainError('invalid', 'request.invalid', 'invalid request: give index or eventId', [
        {
          field: 'index',
          problem: index === undefined ? 'missing' : 'invalid',
          detail: 'give exactly one of index and eventId',
        },
      ]);
    }
    return this.log.inclusion(eventId !== undefined ? { eventId } : { index: index! }, size);
  }

  @Get('proofs/consistency')
  @Roles('viewer')
  @ApiOperation({
    summary: 'A consistency proof: the tree of `to` leaves extends the tree of `from` leaves',
    description:
      'Check it with RFC 9162 §2.1.4.2 against the roots of the two checkpoints. 400 `proof.invalid-range` when ' +
      "from > to; 404 `proof.beyond-tree` when to is larger than this instance's tree.",
  })
  @ApiOkResponse({ type: ConsistencyProofResponse })
  @ApiProblems([400, BAD_INPUT])
  @ApiProblems([404, '`proof.beyond-tree`'])
  @ApiProblems([503, BEHIND])
  consistency(@Query() query: ConsistencyProofQuery): ConsistencyProofView {
    return this.log.consistency(query.from, query.to);
  }
}
