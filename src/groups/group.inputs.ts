import { IsOptional, IsString } from 'class-validator';
import { Description, DisplayName } from '../common/input-rules';
import { isGroupName } from '../common/rules';
import { Matches, NotNullWhenGiven, Trim } from '../common/validation';

export class CreateGroupInput {
  @Trim()
  @IsString()
  @Matches(isGroupName, 'must be 1 to 63 letters, digits, "-" and "_", starting and ending with a letter or digit')
  name: string;

  @IsOptional()
  @DisplayName()
  displayName?: string | null;

  @IsOptional()
  @Description()
  description?: string | null;
}

export class UpdateGroupInput {
  @NotNullWhenGiven()
  @DisplayName()
  displayName?: string;

  @IsOptional()
  @Description()
  description?: string | null;
}
