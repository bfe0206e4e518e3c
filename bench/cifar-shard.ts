/** The sharded distorted-CIFAR pipeline's shard factory lives with the CLI, which runs it too. */
export { type CifarShardArgs, cifarShard } from '../src/cli/cifar-shard.js';
