import { randomBytes } from 'node:crypto';
import { CREATE_GROUP, CREATE_IMAGE, CREATE_PULL_SECRET } from './operations';
import type { TestApp } from './test-app';

/** Names no other test (or earlier run) uses, so tests can run in any order on any database. */
export function uniqueName(prefix = 'img'): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

export interface ImageData {
  id: string;
  name: string;
  displayName: string;
  description: string | null;
  type: 'CPU' | 'GPU' | 'UNIVERSAL';
  url: string;
  urlForGpu: string | null;
  global: boolean;
  version: number;
  createdAt: string;
  updatedAt: string;
  cpuUrl: string;
  gpuUrl: string;
  pullSecret: { id: string; name: string } | null;
  groups: { id: string; name: string }[];
}

export interface GroupData {
  id: string;
  name: string;
  displayName: string;
  description: string | null;
  createdAt: string;
  updatedAt: string;
  images: { id: string; name: string }[];
}

export interface PullSecretData {
  id: string;
  name: string;
  displayName: string;
  registryHost: string;
  username: string;
  createdAt: string;
  updatedAt: string;
  images: { id: string; name: string }[];
}

export async function createImage(app: TestApp, input: Record<string, unknown> = {}): Promise<ImageData> {
  const data = await app.ok<{ createImage: ImageData }>(CREATE_IMAGE, {
    input: { name: uniqueName('img'), url: 'jupyter/base-notebook:2023-10-20', ...input },
  });
  return data.createImage;
}

export async function createGroup(app: TestApp, input: Record<string, unknown> = {}): Promise<GroupData> {
  const data = await app.ok<{ createGroup: GroupData }>(CREATE_GROUP, { input: { name: uniqueName('grp'), ...input } });
  return data.createGroup;
}

export async function createPullSecret(app: TestApp, input: Record<string, unknown> = {}): Promise<PullSecretData> {
  const data = await app.ok<{ createImagePullSecret: PullSecretData }>(CREATE_PULL_SECRET, {
    input: {
      name: uniqueName('secret'),
      registryHost: 'registry.example.com:5000',
      username: 'robot',
      password: 's3cret-Passw0rd',
      ...input,
    },
  });
  return data.createImagePullSecret;
}
