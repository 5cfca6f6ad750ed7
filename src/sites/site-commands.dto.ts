import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsDefined,
  IsEmail,
  IsOptional,
  IsString,
  Length,
  ValidateNested,
} from 'class-validator';
import { ReasonDto } from '../http/common.dto.js';
import { IsIsoDuration, IsLedgerId, IsRevertTarget } from '../http/validators.js';

export class ProductDto {
  @IsLedgerId({ example: 'inst-42', description: 'ID of the product installation on this site' })
  installationId: string;

  @ApiProperty({ example: 'webshop', minLength: 1, maxLength: 64 })
  @IsString()
  @Length(1, 64)
  productKey: string;
}

export class ContactDto {
  @ApiProperty({ example: 'Kim Lee', minLength: 1, maxLength: 200 })
  @IsString()
  @Length(1, 200)
  name: string;

  @ApiProperty({ example: 'kim@example.com', format: 'email' })
  @IsEmail()
  @Length(3, 254)
  email: string;

  @ApiProperty({ example: 'owner', minLength: 1, maxLength: 64 })
  @IsString()
  @Length(1, 64)
  role: string;
}

export class RegisterSiteDto {
  @IsLedgerId({ example: 'site-1001' })
  siteId: string;

  @IsLedgerId({ example: 'cust-77' })
  customerId: string;

  @ApiProperty({ example: 'Acme web shop', minLength: 1, maxLength: 200 })
  @IsString()
  @Length(1, 200)
  name: string;

  @ApiPropertyOptional({ example: 'eu-west', minLength: 1, maxLength: 64 })
  @IsOptional()
  @IsString()
  @Length(1, 64)
  region?: string;

  @ApiPropertyOptional({ description: 'Owned by the provider itself (deleted in the first wave)', default: false })
  @IsOptional()
  @IsBoolean()
  internal?: boolean;

  @ApiPropertyOptional({ type: [ProductDto] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(100)
  @ValidateNested({ each: true })
  @Type(() => ProductDto)
  products?: ProductDto[];

  @ApiPropertyOptional({ type: [ContactDto], description: 'Personal data: stored encrypted' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(20)
  @ValidateNested({ each: true })
  @Type(() => ContactDto)
  contacts?: ContactDto[];

  @ApiPropertyOptional({
    example: 'P30D',
    description: 'ISO 8601 duration from soft delete to purge; at least LEDGER_MIN_RETENTION',
  })
  @IsOptional()
  @IsString()
  @IsIsoDuration()
  retention?: string;
}

export class AddProductDto extends ProductDto {}

export class UpdateContactsDto {
  @ApiProperty({ type: [ContactDto], description: 'Replaces every contact. Personal data: stored encrypted' })
  @IsDefined()
  @IsArray()
  @ArrayMaxSize(20)
  @ValidateNested({ each: true })
  @Type(() => ContactDto)
  contacts: ContactDto[];
}

export class DeletionProtectionDto extends ReasonDto {
  @ApiProperty({ description: 'true: operators may enable; false: only admins may disable' })
  @IsBoolean()
  enabled: boolean;
}

export class PlaceLegalHoldDto extends ReasonDto {
  @ApiProperty({ example: 'LEGAL-2026-014', minLength: 1, maxLength: 200 })
  @IsString()
  @Length(1, 200)
  reference: string;
}

export class RevertSiteDto extends ReasonDto {
  @ApiProperty({
    oneOf: [
      { type: 'string', format: 'date-time' },
      { type: 'integer', minimum: 1 },
    ],
    example: '2026-11-21T07:37:00Z',
    description: 'The moment (ISO time) or version to bring the site back to',
  })
  @IsRevertTarget()
  to: string | number;

  @ApiPropertyOptional({ default: false, description: 'Only report the events that would be recorded' })
  @IsOptional()
  @IsBoolean()
  dryRun?: boolean;
}
