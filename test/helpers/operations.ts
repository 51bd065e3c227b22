/** The operations the tests send, as named constants, so each test reads as what it does. */

export const IMAGE_FIELDS = `
  id name displayName description type url urlForGpu global version createdAt updatedAt
  cpuUrl: urlFor(gpu: false) gpuUrl: urlFor(gpu: true)
  pullSecret { id name }
  groups { id name }
`;

export const GROUP_FIELDS = 'id name displayName description createdAt updatedAt images { id name }';

export const PULL_SECRET_FIELDS = 'id name displayName registryHost username createdAt updatedAt images { id name }';

export const CREATE_IMAGE = `mutation CreateImage($input: CreateImageInput!) { createImage(input: $input) { ${IMAGE_FIELDS} } }`;
export const UPDATE_IMAGE = `mutation UpdateImage($id: ID!, $input: UpdateImageInput!) { updateImage(id: $id, input: $input) { ${IMAGE_FIELDS} } }`;
export const DELETE_IMAGE = 'mutation DeleteImage($id: ID!) { deleteImage(id: $id) }';
export const SET_IMAGE_GROUPS = `mutation SetImageGroups($imageId: ID!, $groupIds: [ID!]!) { setImageGroups(imageId: $imageId, groupIds: $groupIds) { ${IMAGE_FIELDS} } }`;
export const IMAGE_BY_ID = `query ImageById($id: ID) { image(id: $id) { ${IMAGE_FIELDS} } }`;
export const IMAGE_BY_NAME = `query ImageByName($name: String) { image(name: $name) { ${IMAGE_FIELDS} } }`;

export const CREATE_GROUP = `mutation CreateGroup($input: CreateGroupInput!) { createGroup(input: $input) { ${GROUP_FIELDS} } }`;
export const UPDATE_GROUP = `mutation UpdateGroup($id: ID!, $input: UpdateGroupInput!) { updateGroup(id: $id, input: $input) { ${GROUP_FIELDS} } }`;
export const DELETE_GROUP = 'mutation DeleteGroup($id: ID!) { deleteGroup(id: $id) }';
export const GROUP_BY_ID = `query GroupById($id: ID) { group(id: $id) { ${GROUP_FIELDS} } }`;

export const CREATE_PULL_SECRET = `mutation CreatePullSecret($input: CreateImagePullSecretInput!) { createImagePullSecret(input: $input) { ${PULL_SECRET_FIELDS} } }`;
export const UPDATE_PULL_SECRET = `mutation UpdatePullSecret($id: ID!, $input: UpdateImagePullSecretInput!) { updateImagePullSecret(id: $id, input: $input) { ${PULL_SECRET_FIELDS} } }`;
export const DELETE_PULL_SECRET = 'mutation DeletePullSecret($id: ID!, $detach: Boolean) { deleteImagePullSecret(id: $id, detach: $detach) }';
export const PULL_SECRET_BY_ID = `query PullSecretById($id: ID) { imagePullSecret(id: $id) { ${PULL_SECRET_FIELDS} } }`;

export const DOCKER_CONFIG_JSON = 'query DockerConfigJson($id: ID!) { dockerConfigJson(id: $id) }';

export const LAUNCHABLE = 'query Launchable($groupId: ID!, $gpu: Boolean!) { launchableImages(groupId: $groupId, gpu: $gpu) { name type url: urlFor(gpu: $gpu) } }';
