import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsUUID, Max, Min } from 'class-validator';

/* Queries and answers of the transparency log's routes. Hashes are standard base64, as in checkpoints. */

const SIZE = { minimum: 0, maximum: Number.MAX_SAFE_INTEGER } as const;

function IsTreeNumber(): PropertyDecorator {
  return (target, key) => {
    Type(() => Number)(target, key);
    IsInt()(target, key);
    Min(0)(target, key);
    Max(Number.MAX_SAFE_INTEGER)(target, key);
  };
}

export class InclusionProofQuery {
  @ApiPropertyOptional({ ...SIZE, description: 'The leaf: its index (global ordinal − 1). Give this or eventId.' })
  @IsOptional()
  @IsTreeNumber()
  index?: number;

  @ApiPropertyOptional({ format: 'uuid', description: 'The leaf: the ledger event it records. Give this or index.' })
  @IsOptional()
  @IsUUID()
  eventId?: string;

  @ApiPropertyOptional({
    ...SIZE,
    description: "The tree size, from the checkpoint you verify against (default: this instance's current size)",
  })
  @IsOptional()
  @IsTreeNumber()
  size?: number;
}

export class ConsistencyProofQuery {
  @ApiProperty({ ...SIZE, description: 'The older size: the checkpoint you kept' })
  @IsTreeNumber()
  from: number;

  @ApiPropertyOptional({
    ...SIZE,
    description: "The newer size: a later checkpoint's (default: this instance's current size)",
  })
  @IsOptional()
  @IsTreeNumber()
  to?: number;
}

export class CheckpointKeyResponse {
  @ApiProperty({ example: 'tenant-ledger', description: 'LEDGER_ORIGIN: the first line of every checkpoint' })
  origin: string;

  @ApiProperty({
    example: 'tenant-ledger+1b2c3d4e+AWx0b3RzIG9mIGJhc2U2NCBmb3IgYW4gRWQyNTUxOSBrZXk=',
    description: 'The Ed25519 verifier key in the signed-note form `<name>+<hex key id>+<base64(0x01 ‖ key)>`',
  })
  verifierKey: string;
}

export class InclusionProofResponse {
  @ApiProperty({ ...SIZE, description: 'Leaf index: the event’s global ordinal − 1' }) index: number;
  @ApiProperty({ ...SIZE, description: 'Tree size the proof is for' }) size: number;
  @ApiProperty({ format: 'uuid' }) eventId: string;
  @ApiProperty({ example: 'site-site-1001' }) streamId: string;
  @ApiProperty({ example: 1 }) version: number;
  @ApiProperty({
    format: 'byte',
    description:
      'SHA-256(0x00 ‖ leaf), the leaf being the canonical JSON of the stored event’s streamId, version, eventId, type, data (sealed), metadata, prevHash and hash',
  })
  leafHash: string;
  @ApiProperty({
    type: 'array',
    items: { type: 'string', format: 'byte' },
    description: 'RFC 9162 §2.1.3.1 PATH(index, D[0:size]), lowest level first',
  })
  proof: string[];
}

export class ConsistencyProofResponse {
  @ApiProperty(SIZE) from: number;
  @ApiProperty(SIZE) to: number;
  @ApiProperty({
    type: 'array',
    items: { type: 'string', format: 'byte' },
    description: 'RFC 9162 §2.1.4.1 PROOF(from, D[0:to]); empty when from is 0 or equals to',
  })
  proof: string[];
}
