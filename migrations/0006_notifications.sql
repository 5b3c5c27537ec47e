CREATE TABLE `notification_settings` (
	`user_id` text NOT NULL,
	`scope` text NOT NULL,
	`scope_id` text NOT NULL,
	`community_id` text,
	`level` text,
	`muted_until` integer,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`user_id`, `scope_id`),
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `notification_settings_community` ON `notification_settings` (`user_id`,`community_id`);