CREATE TABLE `call_guests` (
	`id` text PRIMARY KEY NOT NULL,
	`link_id` text NOT NULL,
	`name` text NOT NULL,
	`token_hash` text NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	FOREIGN KEY (`link_id`) REFERENCES `call_links`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `call_guests_token` ON `call_guests` (`token_hash`);--> statement-breakpoint
CREATE INDEX `call_guests_link` ON `call_guests` (`link_id`);--> statement-breakpoint
CREATE TABLE `call_links` (
	`id` text PRIMARY KEY NOT NULL,
	`code` text NOT NULL,
	`title` text DEFAULT '' NOT NULL,
	`host_id` text NOT NULL,
	`channel_id` text NOT NULL,
	`locked` integer DEFAULT false NOT NULL,
	`lobby` integer DEFAULT false NOT NULL,
	`require_account` integer DEFAULT false NOT NULL,
	`created_at` integer NOT NULL,
	`ended_at` integer,
	FOREIGN KEY (`host_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `call_links_code` ON `call_links` (`code`);--> statement-breakpoint
CREATE INDEX `call_links_host` ON `call_links` (`host_id`);