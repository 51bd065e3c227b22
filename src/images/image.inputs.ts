import { ArrayMaxSize, IsArray, IsBoolean, IsIn, IsInt, IsOptional, IsString, MaxLength, Min } from 'class-validator';
import { Description, DisplayName, DnsName, MAX_URL, TrimToNull } from '../common/input-rules';
import { isImageReference } from '../common/rules';
import { Matches, NotNullWhenGiven, Trim } from '../common/validation';
import type { ImageType } from '../generated/graphql';

export const IMAGE_TYPES: ImageType[] = ['CPU', 'GPU', 'UNIVERSAL'];
export const MAX_GROUPS_PER_CALL = 1000;
const REFERENCE_MESSAGE =
  'must be a container image reference: [registry[:port]/]path[:tag][@digest], such as jupyter/base-notebook:2023-10-20';

function ImageUrl(): PropertyDecorator {
  return (target, key) => {
    IsString()(target, key);
    MaxLength(MAX_URL)(target, key);
    Matches(isImageReference, REFERENCE_MESSAGE)(target, key);
  };
}

export class CreateImageInput {
  @DnsName()
  name: string;

  @IsOptional()
  @DisplayName()
  displayName?: string | null;

  @IsOptional()
  @Description()
  description?: string | null;

  @IsOptional()
  @IsIn(IMAGE_TYPES)
  type?: ImageType | null;

  @Trim()
  @ImageUrl()
  url: string;

  @TrimToNull()
  @IsOptional()
  @ImageUrl()
  urlForGpu?: string | null;

  @IsOptional()
  @IsString()
  pullSecretId?: string | null;

  @IsOptional()
  @IsBoolean()
  global?: boolean | null;

  @IsOptional()
  @IsBoolean()
  enabled?: boolean | null;

  @IsOptional()
  @IsArray()
  @ArrayMaxSize(MAX_GROUPS_PER_CALL)
  @IsString({ each: true })
  groupIds?: string[] | null;

  @IsOptional()
  @IsBoolean()
  pinDigest?: boolean | null;

  @IsOptional()
  @IsString()
  ownerGroupId?: string | null;
}

export class UpdateImageInput {
  @NotNullWhenGiven()
  @DisplayName()
  displayName?: string;

  @IsOptional()
  @Description()
  description?: string | null;

  @NotNullWhenGiven()
  @IsIn(IMAGE_TYPES)
  type?: ImageType;

  @NotNullWhenGiven()
  @Trim()
  @ImageUrl()
  url?: string;

  @TrimToNull()
  @IsOptional()
  @ImageUrl()
  urlForGpu?: string | null;

  @IsOptional()
  @IsString()
  pullSecretId?: string | null;

  @NotNullWhenGiven()
  @IsBoolean()
  global?: boolean;

  @NotNullWhenGiven()
  @IsBoolean()
  enabled?: boolean;

  @IsOptional()
  @IsInt()
  @Min(1)
  expectedVersion?: number | null;

  @IsOptional()
  @IsBoolean()
  pinDigest?: boolean | null;
}

export class SetImageGroupsInput {
  @IsArray()
  @ArrayMaxSize(MAX_GROUPS_PER_CALL)
  @IsString({ each: true })
  groupIds: string[];
}
