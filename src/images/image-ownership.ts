import { EntityManager } from 'typeorm';
import type { AccessPolicy } from '../auth/access-policy';
import { isRecordId } from '../db/record-id';
import { badUserInput, forbidden, notFound } from '../errors';
import { Group } from '../groups/group.entity';
import type { Loaders } from '../loaders';
import { isSharedWith } from '../pull-secrets/image-pull-secret.service';
import type { Image } from './image.entity';

/**
 * The rules of groups' own images, for the image service: who may create and manage them, and
 * what such an image may be (never global, always linked to its owner, only secrets shared with it).
 */

/** The owner a create names, checked: group admins must name a group they administer. */
export async function ownerForCreate(manager: EntityManager, access: AccessPolicy, ownerGroupId: string | null | undefined): Promise<Group | null> {
  if (ownerGroupId == null) {
    if (!access.isAdmin) throw forbidden('group admins create images for one of their groups: give ownerGroupId', 'ownerGroupId');
    return null;
  }
  const owner = isRecordId(ownerGroupId) ? await manager.findOneBy(Group, { id: ownerGroupId }) : null;
  if (!owner) {
    // A group admin learns nothing of groups that are not theirs.
    if (!access.isAdmin) throw forbidden('you may create images only for groups you administer', 'ownerGroupId');
    throw notFound('group', 'ownerGroupId', [ownerGroupId]);
  }
  if (!access.administers(owner)) throw forbidden('you may create images only for groups you administer', 'ownerGroupId');
  return owner;
}

/** Fails unless the caller may change, delete or check this image; an image they cannot see is NOT_FOUND. */
export async function assertManages(access: AccessPolicy, loaders: Loaders, image: Pick<Image, 'id' | 'ownerGroupId'>, field: string): Promise<void> {
  if (access.isAdmin) return;
  const owner = image.ownerGroupId ? await loaders.groupById.load(image.ownerGroupId) : null;
  if (owner && access.administers(owner)) return;
  if (!(await loaders.imageById.load(image.id))) throw notFound('image', field, [image.id]);
  throw forbidden(owner ? 'only the admins of its group may change this image' : 'only platform admins may change platform images', field);
}

/** What an image of a group may be; `owner` is its owner group (null for a platform image). */
export async function assertOwnedImageRules(manager: EntityManager, image: Pick<Image, 'global' | 'pullSecretId'>, owner: Pick<Group, 'id' | 'name'> | null): Promise<void> {
  if (!owner) return;
  if (image.global) throw badUserInput([{ field: 'global', message: `an image of group "${owner.name}" is never global` }]);
  if (image.pullSecretId != null && !(await isSharedWith(manager, image.pullSecretId, owner.id))) {
    throw badUserInput([{ field: 'pullSecretId', message: `is not shared with group "${owner.name}": a platform admin shares secrets with setImagePullSecretGroups` }]);
  }
}

/** Group admins link an image to its owner group only; platform admins may link it further. */
export function assertLinks(access: AccessPolicy, owner: Pick<Group, 'id' | 'name'> | null, groupIds: string[]): void {
  if (owner && !groupIds.includes(owner.id)) throw badUserInput([{ field: 'groupIds', message: `an image of group "${owner.name}" is always linked to it` }]);
  if (!access.isAdmin && groupIds.some((id) => id !== owner?.id)) throw forbidden('only platform admins may link an image to other groups', 'groupIds');
}
