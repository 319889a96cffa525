/** nRF Cloud's default sec tag (0x01010001). */
export const defaultSecTag = 16842753;
