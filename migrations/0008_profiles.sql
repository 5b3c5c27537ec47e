CREATE TABLE `custom_emoji` (
	`id` text PRIMARY KEY NOT NULL,
	`community_id` text NOT NULL,
	`name` text NOT NULL,
	`key` text NOT NULL,
	`content_type` text NOT NULL,
	`animated` integer DEFAULT false NOT NULL,
	`created_by` text NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`community_id`) REFERENCES `communities`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `custom_emoji_name` ON `custom_emoji` (`community_id`,`name`);--> statement-breakpoint
ALTER TABLE `members` ADD `avatar_key` text;--> statement-breakpoint
ALTER TABLE `users` ADD `banner_color` integer;--> statement-breakpoint
ALTER TABLE `users` ADD `about_me` text;--> statement-breakpoint
ALTER TABLE `users` ADD `pronouns` text;--> statement-breakpoint
ALTER TABLE `users` ADD `status_text` text;--> statement-breakpoint
ALTER TABLE `users` ADD `status_emoji` text;--> statement-breakpoint
ALTER TABLE `users` ADD `status_expires_at` integer;