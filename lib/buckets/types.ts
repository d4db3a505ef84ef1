/** Where the replicas of a stream are placed. */
export interface Placement {
  /** The cluster to place them in. */
  cluster?: string;
  /** Server tags the chosen servers must have. */
  tags?: string[];
}
