CREATE TABLE `thread_members` (
	`thread_id` text NOT NULL,
	`user_id` text NOT NULL,
	`joined_at` integer NOT NULL,
	PRIMARY KEY(`thread_id`, `user_id`),
	FOREIGN KEY (`thread_id`) REFERENCES `threads`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `thread_members_user` ON `thread_members` (`user_id`);--> statement-breakpoint
CREATE TABLE `threads` (
	`id` text PRIMARY KEY NOT NULL,
	`community_id` text NOT NULL,
	`parent_id` text NOT NULL,
	`starter_message_id` text,
	`name` text NOT NULL,
	`owner_id` text NOT NULL,
	`created_at` integer NOT NULL,
	`message_count` integer DEFAULT 0 NOT NULL,
	`last_message_at` integer,
	`last_author_id` text,
	`last_activity_at` integer NOT NULL,
	`auto_archive_minutes` integer DEFAULT 1440 NOT NULL,
	`archived_at` integer,
	FOREIGN KEY (`community_id`) REFERENCES `communities`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`parent_id`) REFERENCES `channels`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `threads_parent` ON `threads` (`parent_id`,`last_activity_at`);--> statement-breakpoint
CREATE INDEX `threads_community` ON `threads` (`community_id`);--> statement-breakpoint
CREATE UNIQUE INDEX `threads_starter` ON `threads` (`starter_message_id`);