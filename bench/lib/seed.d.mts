export interface SeededUser {
  id: string;
  username: string;
  /** `woxly_session=<token>` */
  cookie: string;
}
export function seedChannel(o: { persistTo: string; userCount: number; prefix?: string }): {
  communityId: string;
  channelId: string;
  users: SeededUser[];
};
export function registerUser(baseUrl: string, username: string, password?: string): Promise<SeededUser>;
