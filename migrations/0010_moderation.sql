CREATE TABLE `message_reports` (
	`id` text PRIMARY KEY NOT NULL,
	`community_id` text NOT NULL,
	`channel_id` text NOT NULL,
	`message_id` text NOT NULL,
	`author_id` text,
	`reporter_id` text NOT NULL,
	`reason` text NOT NULL,
	`evidence` text NOT NULL,
	`status` text DEFAULT 'open' NOT NULL,
	`resolution` text,
	`resolved_by` text,
	`resolved_at` integer,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`community_id`) REFERENCES `communities`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `message_reports_once` ON `message_reports` (`message_id`,`reporter_id`);--> statement-breakpoint
CREATE INDEX `message_reports_queue` ON `message_reports` (`community_id`,`status`,`created_at`);--> statement-breakpoint
ALTER TABLE `channels` ADD `slowmode_seconds` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `members` ADD `timeout_until` integer;