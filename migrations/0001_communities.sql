ALTER TABLE `channels` ADD `dm_key` text;--> statement-breakpoint
CREATE UNIQUE INDEX `channels_dm_key` ON `channels` (`dm_key`);--> statement-breakpoint
ALTER TABLE `communities` ADD `system_channel_id` text;