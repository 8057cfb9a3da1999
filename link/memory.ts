// The memory operations the proxies use (memfds and seals, mappings, guarded copies and compares, heap trimming): the addon's memory helpers.
export {
  F_SEAL_GROW, F_SEAL_SEAL, F_SEAL_SHRINK, F_SEAL_WRITE, addSeals, copyRows, diffRows, mallocTrim, maxDiffSpans, memfdCreate, mmap, munmap,
} from '../native/index';
