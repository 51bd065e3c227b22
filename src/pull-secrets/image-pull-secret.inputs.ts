import { ArrayMaxSize, IsArray, IsOptional, IsString, Length } from 'class-validator';
import { MAX_GROUPS_PER_CALL } from '../images/image.inputs';
import { Characters, DisplayName, DnsName } from '../common/input-rules';
import { isRegistryHost } from '../common/rules';
import { Matches, NotNullWhenGiven, Trim } from '../common/validation';

const HOST_MESSAGE = 'must be a host name or IP address with an optional port, such as registry.example.com:5000';

// The password is neither trimmed nor echoed in any message: it is opaque and secret.
export class CreateImagePullSecretInput {
  @DnsName()
  name: string;

  @IsOptional()
  @DisplayName()
  displayName?: string | null;

  @Trim()
  @IsString()
  @Matches(isRegistryHost, HOST_MESSAGE)
  registryHost: string;

  @Trim()
  @IsString()
  @Characters(1, 255)
  username: string;

  @IsString()
  @Length(1, 1024, { message: 'password must be 1 to 1024 characters' })
  password: string;
}

export class UpdateImagePullSecretInput {
  @NotNullWhenGiven()
  @DisplayName()
  displayName?: string;

  @NotNullWhenGiven()
  @Trim()
  @IsString()
  @Matches(isRegistryHost, HOST_MESSAGE)
  registryHost?: string;

  @NotNullWhenGiven()
  @Trim()
  @IsString()
  @Characters(1, 255)
  username?: string;

  @NotNullWhenGiven()
  @IsString()
  @Length(1, 1024, { message: 'password must be 1 to 1024 characters' })
  password?: string;
}

export class SetPullSecretGroupsInput {
  @IsArray()
  @ArrayMaxSize(MAX_GROUPS_PER_CALL)
  @IsString({ each: true })
  groupIds: string[];
}
