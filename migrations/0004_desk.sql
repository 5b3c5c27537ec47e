CREATE TABLE `desk_api_keys` (
	`id` text PRIMARY KEY NOT NULL,
	`desk_id` text NOT NULL,
	`name` text NOT NULL,
	`prefix` text NOT NULL,
	`key_hash` text NOT NULL,
	`created_by_id` text,
	`created_at` integer NOT NULL,
	`last_used_at` integer,
	FOREIGN KEY (`desk_id`) REFERENCES `desks`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `desk_api_keys_hash` ON `desk_api_keys` (`key_hash`);--> statement-breakpoint
CREATE INDEX `desk_api_keys_desk` ON `desk_api_keys` (`desk_id`);--> statement-breakpoint
CREATE TABLE `desk_canned_replies` (
	`id` text PRIMARY KEY NOT NULL,
	`desk_id` text NOT NULL,
	`shortcut` text NOT NULL,
	`text` text NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`desk_id`) REFERENCES `desks`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `desk_canned_replies_shortcut` ON `desk_canned_replies` (`desk_id`,`shortcut`);--> statement-breakpoint
CREATE TABLE `ticket_messages` (
	`ticket_id` text NOT NULL,
	`seq` integer NOT NULL,
	`author_kind` text NOT NULL,
	`author_id` text,
	`author_name` text NOT NULL,
	`content` text NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`ticket_id`, `seq`),
	FOREIGN KEY (`ticket_id`) REFERENCES `tickets`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
DROP TABLE `desk_managers`;--> statement-breakpoint
DROP INDEX `desks_widget_key_unique`;--> statement-breakpoint
ALTER TABLE `desks` ADD `greeting` text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE `desks` ADD `colour` text DEFAULT '#5865f2' NOT NULL;--> statement-breakpoint
ALTER TABLE `desks` ADD `office_hours` text;--> statement-breakpoint
ALTER TABLE `desks` ADD `manager_role_id` text;--> statement-breakpoint
ALTER TABLE `desks` ADD `capacity` integer DEFAULT 3 NOT NULL;--> statement-breakpoint
ALTER TABLE `desks` ADD `auto_assign` integer DEFAULT false NOT NULL;--> statement-breakpoint
CREATE INDEX `desks_community` ON `desks` (`community_id`);--> statement-breakpoint
ALTER TABLE `desks` DROP COLUMN `widget_key`;--> statement-breakpoint
ALTER TABLE `tickets` ADD `rating_comment` text;--> statement-breakpoint
ALTER TABLE `tickets` ADD `requested_at` integer;--> statement-breakpoint
ALTER TABLE `tickets` ADD `first_response_at` integer;--> statement-breakpoint
ALTER TABLE `tickets` ADD `preview` text DEFAULT '' NOT NULL;--> statement-breakpoint
CREATE INDEX `tickets_visitor` ON `tickets` (`visitor_id`);--> statement-breakpoint
CREATE INDEX `tickets_desk_created` ON `tickets` (`desk_id`,`created_at`);--> statement-breakpoint
ALTER TABLE `visitors` ADD `origin` text;--> statement-breakpoint
ALTER TABLE `visitors` ADD `page_url` text;--> statement-breakpoint
ALTER TABLE `visitors` ADD `language` text;--> statement-breakpoint
ALTER TABLE `visitors` ADD `time_zone` text;--> statement-breakpoint
CREATE UNIQUE INDEX `visitors_token` ON `visitors` (`token_hash`);