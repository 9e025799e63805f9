/**
 * tracking/store/names — readable run names in MLflow's style: `<adjective>-<noun>-<number>`.
 */
import { randomInt } from 'node:crypto';

const ADJECTIVES = [
  'able', 'amazing', 'bold', 'brave', 'bright', 'calm', 'casual', 'clean', 'clever', 'crisp', 'dapper', 'eager',
  'fair', 'fearless', 'gentle', 'glamorous', 'grand', 'happy', 'honest', 'keen', 'kindly', 'learned', 'lively',
  'loud', 'lucky', 'mercurial', 'nimble', 'omniscient', 'polite', 'proud', 'quick', 'quiet', 'rare', 'rogue',
  'rumbling', 'sassy', 'secretive', 'serious', 'shivering', 'silent', 'smiling', 'stately', 'sunny', 'swift',
  'tasteful', 'thundering', 'trusting', 'unique', 'upbeat', 'valuable', 'victorious', 'wise', 'witty', 'zealous',
];
const NOUNS = [
  'ant', 'ape', 'asp', 'auk', 'bass', 'bat', 'bear', 'bee', 'bird', 'boar', 'bug', 'calf', 'carp', 'cat', 'chimp',
  'cod', 'colt', 'crab', 'crane', 'cow', 'croc', 'deer', 'doe', 'dog', 'dove', 'duck', 'eel', 'elk', 'finch', 'fish',
  'fly', 'foal', 'fowl', 'fox', 'frog', 'gnat', 'gnu', 'goat', 'grouse', 'gull', 'hare', 'hawk', 'hen', 'hog',
  'horse', 'hound', 'jay', 'kit', 'kite', 'koi', 'lamb', 'lark', 'loon', 'lynx', 'mare', 'midge', 'mink', 'mole',
  'moose', 'moth', 'mouse', 'mule', 'newt', 'owl', 'ox', 'panda', 'penguin', 'perch', 'pig', 'pug', 'quail', 'ram',
  'rat', 'ray', 'robin', 'roo', 'rook', 'seal', 'shad', 'shark', 'sheep', 'shoat', 'shrew', 'skink', 'slug', 'smelt',
  'snail', 'snake', 'snipe', 'sow', 'sponge', 'squid', 'stag', 'steed', 'stoat', 'swan', 'tern', 'toad', 'trout',
  'turtle', 'vole', 'wasp', 'whale', 'wolf', 'worm', 'wren', 'yak', 'zebra',
];

export function generateRunName(): string {
  return `${ADJECTIVES[randomInt(ADJECTIVES.length)]}-${NOUNS[randomInt(NOUNS.length)]}-${randomInt(1000)}`;
}
